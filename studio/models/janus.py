"""Janus: one latent space that generates designs and predicts their friction law.

After Batley and Saha, "A Unified Generative-Predictive Framework for Deterministic Inverse
Design" (arXiv 2512.15746), with the KHRONOS head of "KHRONOS" (arXiv 2505.13315). Written here
from the papers' descriptions; no code of theirs is used.

    encoder   (θ in the unit box, canonical order; N)  → z ∈ R^d   (posterior mean and log-variance)
    decoder   (z; N) → θ in the unit box, through the CVAE's ThetaHead (valid by construction)
    head      (z; N) → the law: standardised log F on the 128-point load grid

The KHRONOS head. Each input coordinate x_d ∈ [0, 1] (u_d = σ(z_d) for the latent, (N − 16)/240
for the asperity count) is expanded on G compact quadratic B-splines centred on the grid
c_g = g/(G − 1), g = 0..G−1:

    b_g(x) = β((x − c_g)·(G − 1)),   β(t) = 3/4 − t²            for |t| < 1/2
                                     β(t) = (3/2 − |t|)² / 2     for 1/2 ≤ |t| < 3/2
                                     β(t) = 0                    otherwise

learned weights W[d, g, r] project them to R modes per coordinate, v_{d,r}(x_d) = Σ_g W[d,g,r]·b_g(x_d),
the modes multiply across coordinates (a rank-R canonical-polyadic form),
m_r = Π_d v_{d,r}(x_d), and a linear layer maps the R products to the 128 outputs. W starts at
1 + 0.1·N(0, 1), so every product starts near 1 whatever the number of coordinates.

The law target is the standardised log F per load point (mean and standard deviation over the
training set, the buffers of `ConditionEncoder("log")`, the same features the CVAE conditions on):
a log target makes the squared error a relative error at every load, and its optimum is the
geometric mean over realisations, the law a θ-level model can know (the realisation seed is not
an input; see docs/janus.md for what that floor means for the figures).

Joint loss per batch (weights in JanusConfig, documented in docs/janus.md):

    w_recon · Σ_23 SmoothL1(decode(z), θ)             reconstruction, z = μ + σ·ε
  + w_pred  · mean_128 (head(z, N) − standardised log F)²
  + w_cycle · mean_d (μ(decode(z′)) − z′)²            cycle consistency, z′ ~ N(0, I), random N
  + β · KL(q(z | θ, N) ‖ N(0, I))                     a light prior so starts and maps have a scale
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from studio.models.networks import N_LOADS, CardConfig, ConditionEncoder, ThetaHead, _mlp
from studio.physics import MAX_ASPERITIES, MIN_ASPERITIES, THETA_SIZE

HEADS = ("khronos", "mlp")


@dataclass
class JanusConfig(CardConfig):
    """Sizes and loss weights of a Janus model (stored in its card)."""

    kind: str = "janus"
    name: str = "compact"
    head: str = "khronos"  # "khronos" or "mlp" (the comparison: an MLP of about the same size)
    latent_dim: int = 16
    encoder_hidden: tuple[int, ...] = (256, 256)
    decoder_hidden: tuple[int, ...] = (384, 384, 384)
    khronos_grid: int = 12  # G: B-splines per coordinate
    khronos_rank: int = 256  # R: modes (CP rank)
    mlp_hidden: int = 0  # 0: chosen so the MLP head has about the KHRONOS head's parameter count
    activation: str = "silu"
    law_features: str = "log"  # the head predicts standardised log F (the only choice; kept for the card)
    w_recon: float = 1.0
    w_pred: float = 50.0
    w_cycle: float = 1.0
    smooth_l1_beta: float = 0.02

    @property
    def head_inputs(self) -> int:
        return self.latent_dim + 1  # the latent coordinates and N


def janus_preset(name: str = "compact", head: str = "khronos") -> JanusConfig:
    """The `compact` Janus (trains on a shared 2-core CPU in about an hour) with either head."""
    if head not in HEADS:
        raise ValueError(f"unknown Janus head {head!r}; choose one of {', '.join(HEADS)}")
    if name not in ("compact", "paper"):
        raise ValueError(f"unknown config {name!r}; choose paper or compact")
    cfg = JanusConfig(name=name, head=head)
    if name == "paper":  # wider, for a GPU
        cfg.encoder_hidden, cfg.decoder_hidden, cfg.khronos_rank = (512, 512, 512), (512, 512, 512), 512
    return cfg


def quadratic_bspline(t: torch.Tensor) -> torch.Tensor:
    """The centred quadratic B-spline β(t) (support |t| < 3/2, β(0) = 3/4, integer shifts sum to 1)."""
    a = t.abs()
    return torch.where(a < 0.5, 0.75 - a * a, torch.where(a < 1.5, 0.5 * (1.5 - a) ** 2, torch.zeros_like(a)))


def quadratic_bspline_derivative(t: torch.Tensor) -> torch.Tensor:
    """β′(t): −2t inside |t| < 1/2, −sign(t)·(3/2 − |t|) up to 3/2, 0 outside."""
    a = t.abs()
    return torch.where(a < 0.5, -2.0 * t, torch.where(a < 1.5, -torch.sign(t) * (1.5 - a), torch.zeros_like(a)))


class KhronosLayer(nn.Module):
    """x ∈ [0, 1]^D → R^out: B-spline expansion per coordinate, R modes, product across coordinates, linear."""

    def __init__(self, inputs: int, grid: int, rank: int, outputs: int):
        super().__init__()
        if grid < 2:
            raise ValueError("a KHRONOS grid needs at least 2 B-splines")
        self.inputs, self.grid, self.rank = int(inputs), int(grid), int(rank)
        self.register_buffer("centres", torch.linspace(0.0, 1.0, self.grid), persistent=False)
        self.weights = nn.Parameter(1.0 + 0.1 * torch.randn(self.inputs, self.grid, self.rank))
        self.out = nn.Linear(self.rank, outputs)

    def basis(self, x: torch.Tensor) -> torch.Tensor:
        """(B, D) → (B, D, G): b_g(x_d)."""
        return quadratic_bspline((x[..., None] - self.centres) * (self.grid - 1))

    def modes(self, x: torch.Tensor) -> torch.Tensor:
        """(B, D) → (B, R): Π_d Σ_g W[d, g, r]·b_g(x_d)."""
        per_coordinate = torch.einsum("bdg,dgr->bdr", self.basis(x), self.weights)
        return per_coordinate.prod(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.modes(x))

    def forward_with_jacobian(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(outputs (B, out), their derivatives with respect to the inputs (B, out, D)), in closed form.

        ∂m_r/∂x_d = v′_{d,r}(x_d) · Π_{d′≠d} v_{d′,r}(x_{d′}); the product over the other coordinates
        comes from prefix and suffix products (no division, so a zero mode is fine). Orders of
        magnitude faster than autograd's Jacobian through the product for the latent search."""
        t = (x[..., None] - self.centres) * (self.grid - 1)
        v = torch.einsum("bdg,dgr->bdr", quadratic_bspline(t), self.weights)  # (B, D, R)
        dv = torch.einsum("bdg,dgr->bdr", quadratic_bspline_derivative(t), self.weights) * (self.grid - 1)
        ones = torch.ones_like(v[:, :1])
        prefix = torch.cumprod(torch.cat([ones, v[:, :-1]], 1), 1)  # Π_{d′<d}
        suffix = torch.cumprod(torch.cat([ones, v.flip(1)[:, :-1]], 1), 1).flip(1)  # Π_{d′>d}
        dm = dv * prefix * suffix  # (B, D, R)
        modes = prefix[:, -1] * v[:, -1]
        return self.out(modes), torch.einsum("bdr,or->bod", dm, self.out.weight)


def khronos_parameters(inputs: int, grid: int, rank: int, outputs: int) -> int:
    return inputs * grid * rank + rank * outputs + outputs


def mlp_width_matching(inputs: int, outputs: int, parameters: int) -> int:
    """Hidden width H of inputs→H→H→outputs with about `parameters` parameters."""
    # H² + H·(inputs + outputs + 2) + outputs = parameters
    b = inputs + outputs + 2
    c = outputs - parameters
    return max(1, int(round((-b + (b * b - 4 * c) ** 0.5) / 2)))


def _n_unit(n_asperities: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """N ∈ [16, 256] → [0, 1] (the KHRONOS coordinate; the MLPs get 2·n − 1)."""
    return ((n_asperities.to(like.dtype) - MIN_ASPERITIES) / (MAX_ASPERITIES - MIN_ASPERITIES))[..., None]


class Janus(nn.Module):
    """Encoder, valid-by-construction decoder and a law head on one latent space."""

    def __init__(self, config: JanusConfig):
        super().__init__()
        if config.head not in HEADS:
            raise ValueError(f"unknown Janus head {config.head!r}")
        self.config = config
        d = config.latent_dim
        self.condition = ConditionEncoder("log")  # the law's standardisation (mean/std buffers, fitted on data)
        self.encoder = _mlp((THETA_SIZE + 1, *config.encoder_hidden, 2 * d), config.activation)
        self.decoder = _mlp((d + 1, *config.decoder_hidden, THETA_SIZE), config.activation)
        self.theta_head = ThetaHead()
        if config.head == "khronos":
            self.head = KhronosLayer(config.head_inputs, config.khronos_grid, config.khronos_rank, N_LOADS)
        else:
            width = config.mlp_hidden or mlp_width_matching(
                config.head_inputs, N_LOADS,
                khronos_parameters(config.head_inputs, config.khronos_grid, config.khronos_rank, N_LOADS))
            self.head = _mlp((config.head_inputs, width, width, N_LOADS), config.activation)

    # -- the three maps
    def encode(self, theta_unit: torch.Tensor, n_asperities: torch.Tensor):
        n = _n_unit(n_asperities, theta_unit)
        mu, logvar = self.encoder(torch.cat([theta_unit, 2.0 * n - 1.0], -1)).chunk(2, dim=-1)
        return mu, logvar.clamp(-12.0, 8.0)

    def decode(self, z: torch.Tensor, n_asperities: torch.Tensor) -> torch.Tensor:
        n = _n_unit(n_asperities, z)
        return self.theta_head(self.decoder(torch.cat([z, 2.0 * n - 1.0], -1)))

    def predict(self, z: torch.Tensor, n_asperities: torch.Tensor) -> torch.Tensor:
        """Standardised log F (B, 128) of the design a latent code stands for, at N asperities."""
        n = _n_unit(n_asperities, z)
        if self.config.head == "khronos":
            return self.head(torch.cat([torch.sigmoid(z), n], -1))
        return self.head(torch.cat([z, 2.0 * n - 1.0], -1))

    def predict_log_law(self, z: torch.Tensor, n_asperities: torch.Tensor) -> torch.Tensor:
        """log F [log N] on the load grid."""
        return self.predict(z, n_asperities) * self.condition.std + self.condition.mean

    def log_law_and_jacobian(self, z: torch.Tensor, n_asperities: torch.Tensor):
        """(log F (B, 128), ∂ log F / ∂z (B, 128, d)) — closed form for the KHRONOS head, forward-mode
        automatic differentiation for the MLP head."""
        std = self.condition.std
        if self.config.head == "khronos":
            u = torch.sigmoid(z)
            y, jac = self.head.forward_with_jacobian(torch.cat([u, _n_unit(n_asperities, z)], -1))
            jac = jac[..., : z.shape[-1]] * (u * (1.0 - u))[:, None, :]
        else:
            def one(zz, nn):
                return self.predict(zz[None], nn[None])[0]
            y = self.predict(z, n_asperities)
            jac = torch.func.vmap(torch.func.jacfwd(one))(z, n_asperities)
        return y * std + self.condition.mean, jac * std[:, None]

    def standardised_log_law(self, friction_N: torch.Tensor) -> torch.Tensor:
        return (self.condition.raw(friction_N) - self.condition.mean) / self.condition.std

    # -- training
    def forward(self, theta_unit, friction_N, n_asperities):
        """The joint loss's terms for a batch (dict of scalars; `total` without β·KL, which the loop adds)."""
        cfg = self.config
        mu, logvar = self.encode(theta_unit, n_asperities)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        recon = F.smooth_l1_loss(self.decode(z, n_asperities), theta_unit, beta=cfg.smooth_l1_beta,
                                 reduction="none").sum(-1).mean()
        pred = (self.predict(z, n_asperities) - self.standardised_log_law(friction_N)).pow(2).mean()
        # Cycle: prior codes decoded and encoded again land where they started (with random N).
        z_prior = torch.randn_like(mu)
        n_prior = torch.randint(MIN_ASPERITIES, MAX_ASPERITIES + 1, n_asperities.shape, device=mu.device)
        cycle = (self.encode(self.decode(z_prior, n_prior), n_prior)[0] - z_prior).pow(2).mean()
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1).mean()
        total = cfg.w_recon * recon + cfg.w_pred * pred + cfg.w_cycle * cycle
        return {"total": total, "recon": recon, "pred": pred, "cycle": cycle, "kl": kl}


# --------------------------------------------------------------------------------------------
# The loaded model: encode, decode, predict, invert


@dataclass
class Inversion:
    """The result of `JanusModel.invert` for S starts, best (lowest surrogate objective) first.

    z (S, d); theta (S, 23) float64 decoded designs; law_N (S, 128) the head's laws of z;
    objective (iterations + 1, S): the surrogate objective after each iteration (non-increasing
    per start: a step is only taken when it lowers it); smape_percent (S,) of the head's law
    against the target on the masked loads."""

    z: np.ndarray
    theta: np.ndarray
    law_N: np.ndarray
    objective: np.ndarray
    smape_percent: np.ndarray


class JanusModel:
    """A loaded Janus: θ ↔ latent ↔ law, and deterministic inversion of a target law.

    The latent search is damped Gauss-Newton (Levenberg-Marquardt) on the residual
    r(z) = (log F̂(z, N) − log F_target) over the masked loads, plus √λ·z (a light pull towards the
    prior, where the decoder and the head were trained). The damping moves each step between a
    gradient-descent step (large damping) and a Gauss-Newton step; a step is taken only when it
    lowers the objective ‖r‖²/m, otherwise the damping grows, so the objective never rises.
    All starts descend at once (one batched Jacobian per iteration).
    """

    def __init__(self, model: Janus, card: dict):
        self.model, self.card = model, card
        self.device = str(next(model.parameters()).device)
        self.latent_dim = model.config.latent_dim
        self.kind = "janus"
        self.head = model.config.head
        # The start bank: fixed prior draws; starts are the codes whose predicted laws are nearest.
        gen = torch.Generator().manual_seed(20251215)
        self._bank = torch.randn((2048, self.latent_dim), generator=gen).to(self.device)
        self._bank_laws: dict[int, torch.Tensor] = {}

    # -- conversions
    def _n(self, N, count: int) -> torch.Tensor:
        from studio.physics import validate_asperity_count

        counts = np.broadcast_to(np.asarray(N), (count,))
        for n in np.unique(counts):
            validate_asperity_count(int(n))
        return torch.as_tensor(counts.astype(np.int64), device=self.device)

    def _z(self, z) -> torch.Tensor:
        z = torch.as_tensor(np.asarray(z, dtype=np.float32), device=self.device)
        if z.shape[-1] != self.latent_dim:
            raise ValueError(f"latent codes need {self.latent_dim} entries, got shape {tuple(z.shape)}")
        return z.reshape(-1, self.latent_dim)

    @torch.no_grad()
    def encode(self, theta, N) -> np.ndarray:
        """Posterior means z (B, d) of designs θ (B, 23) (physical box, any component order) at N."""
        from studio.physics import canonical, to_unit

        unit = np.clip(to_unit(canonical(np.atleast_2d(np.asarray(theta, dtype=np.float64)))), 0.0, 1.0)
        unit_t = torch.as_tensor(unit.astype(np.float32), device=self.device)
        return self.model.encode(unit_t, self._n(N, len(unit)))[0].double().cpu().numpy()

    @torch.no_grad()
    def decode(self, z, N) -> np.ndarray:
        """Designs θ (B, 23) float64 in the physical box, valid by construction."""
        from studio.models.networks import unit_to_theta

        z = self._z(z)
        return unit_to_theta(self.model.decode(z, self._n(N, len(z))))

    @torch.no_grad()
    def predict_law(self, z, N) -> np.ndarray:
        """The head's friction laws F (B, 128) [N] of latent codes at N asperities."""
        z = self._z(z)
        return torch.exp(self.model.predict_log_law(z, self._n(N, len(z)))).double().cpu().numpy()

    # -- inversion
    @torch.no_grad()
    def starts(self, law_N, N, count: int, mask=None) -> np.ndarray:
        """`count` codes of the start bank whose predicted laws are nearest the target (masked mean |Δ log F|)."""
        log_target, m = self._target(law_N, mask)
        key = int(np.asarray(N).reshape(-1)[0])
        if key not in self._bank_laws:  # the bank's laws depend on N only: predicted once per N
            self._bank_laws[key] = self.model.predict_log_law(self._bank, self._n(key, len(self._bank)))
        pred = self._bank_laws[key]
        dist = ((pred - log_target).abs() * m).sum(-1)
        idx = torch.topk(dist, min(int(count), len(self._bank)), largest=False).indices
        return self._bank[idx].double().cpu().numpy()

    def _target(self, law_N, mask):
        from studio.models.errors import ModelError
        from studio.physics import LOAD_GRID_N

        law = np.asarray(law_N, dtype=np.float64)
        if law.ndim not in (1, 2) or law.shape[-1:] != LOAD_GRID_N.shape or not np.all(np.isfinite(law)) \
                or np.any(law <= 0):
            raise ModelError(f"Janus inversion needs a positive, finite law of {len(LOAD_GRID_N)} points, "
                             f"got shape {law.shape}")
        m = np.ones(law.shape[-1]) if mask is None else np.asarray(mask, dtype=np.float64)
        return (torch.as_tensor(np.log(law), dtype=torch.float32, device=self.device),
                torch.as_tensor(m / m.sum(), dtype=torch.float32, device=self.device))

    def invert(self, law_N, N, starts=16, *, mask=None, iterations: int = 25, prior_weight: float = 1e-3,
               control=None, sort: bool = True) -> Inversion:
        """Latent codes whose predicted law matches the target, from several starts at once.

        `starts` is a count (the nearest codes of the start bank) or an array of codes (S, d).
        `law_N` is one target (128,) or one per start (S, 128) (then `starts` must be the codes).
        `control`, if given, is called between iterations (an engine's checkpoint: pause/cancel).
        With `sort` the result is best first, else in the order of the starts. Deterministic: the
        same inputs give the same codes.
        """
        log_target, m = self._target(law_N, mask)
        if np.ndim(starts) == 0 and np.ndim(law_N) == 2:
            raise ValueError("one target per start needs the start codes themselves")
        z0 = self.starts(law_N, N, int(starts), mask) if np.ndim(starts) == 0 else np.asarray(starts)
        w = torch.sqrt(m)
        lam = float(prior_weight) ** 0.5
        eye = torch.eye(self.latent_dim, device=self.device)

        def residual(z, n):  # codes (S, d) → residuals (S, 128 + d) and their Jacobian (S, 128 + d, d)
            log_law, jac = self.model.log_law_and_jacobian(z, n)
            r = torch.cat([w * (log_law - log_target), lam * z], -1)
            return r, torch.cat([w[:, None] * jac, (lam * eye).expand(len(z), -1, -1)], 1)

        z, history = self._descend(residual, self._z(z0), N, iterations, control)
        return self._result(z, law_N, N, mask, history, sort)

    def walk(self, load_index: int, values, N, start=None, *, iterations: int = 12, anchor_weight: float = 1e-3,
             prior_weight: float = 1e-4, control=None) -> tuple[np.ndarray, np.ndarray]:
        """A path through the latent space along which the head's friction at one load takes the given
        values in turn (a property sweep): each code starts from the previous one and is pulled towards
        it (`anchor_weight`), so consecutive designs stay neighbours. Returns (codes (S, d), the head's
        laws (S, 128))."""
        values = np.asarray(values, dtype=np.float64)
        if np.any(~np.isfinite(values)) or np.any(values <= 0):
            from studio.models.errors import ModelError
            raise ModelError("a property sweep needs positive, finite friction values")
        z = self._z(np.zeros(self.latent_dim) if start is None else start)[:1].clone()
        lam_a, lam_p = float(anchor_weight) ** 0.5, float(prior_weight) ** 0.5
        eye = torch.eye(self.latent_dim, device=self.device)[None]
        path = []
        for value in values:
            target = float(np.log(value))
            anchor = z.detach().clone()

            def residual(zz, n, anchor=anchor, target=target):
                log_law, jac = self.model.log_law_and_jacobian(zz, n)
                r = torch.cat([log_law[:, load_index: load_index + 1] - target, lam_a * (zz - anchor), lam_p * zz], -1)
                return r, torch.cat([jac[:, load_index: load_index + 1], lam_a * eye, lam_p * eye], 1)

            z, _ = self._descend(residual, z, N, iterations, control)
            path.append(z[0].detach().clone())
        codes = torch.stack(path).double().cpu().numpy()
        return codes, self.predict_law(codes, N)

    @torch.no_grad()
    def _descend(self, residual, z: torch.Tensor, N, iterations: int, control=None):
        """Batched Levenberg-Marquardt on ‖r(z)‖² from each row of z, `residual(z, n) -> (r, ∂r/∂z)`;
        a step is taken only when it lowers the objective. Returns (codes, objective (iterations + 1, S))."""
        n = self._n(N, len(z))
        z = z.detach().clone()
        r, J = residual(z, n)
        cost = (r * r).sum(-1)
        damping = torch.full_like(cost, 1e-2)
        history = [cost.double().cpu().numpy()]
        eye = torch.eye(z.shape[-1], device=z.device)
        for _ in range(int(iterations)):
            if control is not None:
                control()
            A = J.transpose(1, 2) @ J
            g = (J.transpose(1, 2) @ r[..., None])[..., 0]
            diag = torch.diagonal(A, dim1=1, dim2=2)
            step = -torch.linalg.solve(A + damping[:, None, None] * (torch.diag_embed(diag) + 1e-6 * eye), g)
            r_try, J_try = residual(z + step, n)
            cost_try = (r_try * r_try).sum(-1)
            better = torch.isfinite(cost_try) & (cost_try < cost)
            z = torch.where(better[:, None], z + step, z)
            r = torch.where(better[:, None], r_try, r)
            J = torch.where(better[:, None, None], J_try, J)
            cost = torch.where(better, cost_try, cost)
            damping = torch.where(better, damping / 3.0, damping * 4.0).clamp(1e-7, 1e7)
            history.append(cost.double().cpu().numpy())
        return z, np.array(history)

    def _result(self, z, law_N, N, mask, history, sort: bool = True) -> Inversion:
        from studio.physics import smape

        z_np = z.double().cpu().numpy()
        laws = self.predict_law(z_np, N)
        err = smape(laws, np.atleast_2d(np.asarray(law_N, dtype=np.float64)),
                    mask=None if mask is None else np.asarray(mask, bool))
        order = np.argsort(history[-1], kind="stable") if sort else np.arange(len(z_np))
        return Inversion(z=z_np[order], theta=self.decode(z_np[order], N), law_N=laws[order],
                         objective=history[:, order], smape_percent=np.asarray(err)[order])

    def sample(self, law_N, N, k: int = 16, seed: int = 0) -> np.ndarray:
        """The generator protocol (θ (k, 23) for a law): the k inverted designs, best first.
        Deterministic; `seed` is accepted for the protocol and not used."""
        return self.invert(law_N, N, starts=int(k)).theta


__all__ = ["JanusConfig", "janus_preset", "Janus", "JanusModel", "Inversion", "KhronosLayer", "quadratic_bspline",
           "quadratic_bspline_derivative",
           "HEADS", "khronos_parameters", "mlp_width_matching"]
