#!/usr/bin/env bash
# Install the built Friction Studio for the current user (no root):
#   bash packaging/linux/install.sh              # after bash packaging/build.sh
#   bash packaging/linux/install.sh --uninstall
# Puts the program in ~/.local/opt/friction-studio, a link in ~/.local/bin, and the desktop entry,
# AppStream metadata and icons under ~/.local/share (XDG_DATA_HOME), so the desktop's menu lists it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
data_home="${XDG_DATA_HOME:-$HOME/.local/share}"
opt="$HOME/.local/opt/friction-studio"
bin="$HOME/.local/bin"
desktop="$data_home/applications/friction-studio.desktop"
metainfo="$data_home/metainfo/io.frictionstudio.FrictionStudio.metainfo.xml"
icon_svg="$data_home/icons/hicolor/scalable/apps/friction-studio.svg"
icon_png="$data_home/icons/hicolor/256x256/apps/friction-studio.png"

refresh() {
    command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$data_home/applications" || true
    # Refresh the user's icon cache only where one exists (a stale new cache would hide later icons).
    [ -f "$data_home/icons/hicolor/icon-theme.cache" ] && command -v gtk-update-icon-cache >/dev/null 2>&1 \
        && gtk-update-icon-cache -q -t "$data_home/icons/hicolor" || true
}

if [ "${1:-}" = "--uninstall" ]; then
    rm -rf "$opt"
    [ -L "$bin/friction-studio" ] && rm -f "$bin/friction-studio"
    rm -f "$desktop" "$metainfo" "$icon_svg" "$icon_png"
    refresh
    echo "install: removed Friction Studio from $opt and $data_home"
    exit 0
fi
[ $# -eq 0 ] || { echo "usage: bash packaging/linux/install.sh [--uninstall]" >&2; exit 2; }

src="${FRICTION_STUDIO_DIST:-$repo/dist/friction-studio}"  # the built folder (override for tests)
[ -x "$src/friction-studio" ] || { echo "install: $src not built; run bash packaging/build.sh first" >&2; exit 2; }

# Program: copy beside the old one, then swap, so a failed copy leaves the old install working.
mkdir -p "$(dirname "$opt")" "$bin"
tmp="$(mktemp -d "$(dirname "$opt")/.friction-studio.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
cp -a "$src/." "$tmp/"
rm -rf "$opt.old"
[ -e "$opt" ] && mv "$opt" "$opt.old"
mv "$tmp" "$opt"
rm -rf "$opt.old"
trap - EXIT
ln -sfn "$opt/friction-studio" "$bin/friction-studio"

# Desktop entry with the absolute program path (works even when ~/.local/bin is not on PATH).
mkdir -p "$(dirname "$desktop")" "$(dirname "$metainfo")" "$(dirname "$icon_svg")" "$(dirname "$icon_png")"
sed -e "s|^Exec=friction-studio|Exec=$opt/friction-studio|" \
    -e "s|^TryExec=friction-studio|TryExec=$opt/friction-studio|" \
    "$here/friction-studio.desktop" > "$desktop.tmp"
mv "$desktop.tmp" "$desktop"
cp "$here/io.frictionstudio.FrictionStudio.metainfo.xml" "$metainfo"
cp "$repo/resources/icons/friction-studio.svg" "$icon_svg"
cp "$repo/resources/icons/friction-studio.png" "$icon_png"
refresh

echo "install: Friction Studio installed in $opt ($(du -sh "$opt" | cut -f1))"
echo "install: menu entry $desktop; command $bin/friction-studio"
case ":$PATH:" in *":$bin:"*) ;; *) echo "install: note: $bin is not on PATH; the menu entry works regardless" ;; esac
