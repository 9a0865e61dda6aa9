"""Pure JAX physics: θ → asperities → friction law F(P). No torch, no Qt.

Importing it changes no JAX setting: an entry point calls `enable_float64()` (64-bit JAX, which
the float64 reference needs) and `enable_compilation_cache()` once at start-up.

Public API (import from here):
    theta schema ....... THETA_NAMES, THETA_UNITS, THETA_LOWER, THETA_UPPER, THETA_SIZE,
                         N_COMPONENTS, PER_COMPONENT, W_IDX, MU_H_IDX, SD_H_IDX, MU_R_IDX, SD_R_IDX,
                         COMPONENT_SIZE, E_STAR_IDX, TAU0_IDX, B_IDX, MATERIAL_IDX,
                         MIN_ASPERITIES, MAX_ASPERITIES, validate, validate_asperity_count,
                         canonical, to_unit, from_unit, normalise_weights, ThetaError
    realisation ........ Asperities, realize(theta, N, seed), realize_many, base_draws, asperities_from_draws
    friction law ....... LOAD_GRID_N (128,), friction_law(h, R, E*, tau0, B), friction_law_batch,
                         simulate(theta, N, seed), simulate_batch(theta, N, seeds),
                         simulate_many(thetas, N, seeds) (exact), simulate_and_realize (exact laws and
                         asperities in one call), simulate_fast(thetas, N, seeds) (float32);
                         FAST_BLOCK / EXACT_BLOCK rows per compiled call, one program per padded width
    exact fit .......... fit_tau0_B(theta, laws, target) -> (theta, laws): τ0 and B solved for a realisation
    ranking ............ rank(theta, N, seeds, target) -> Ranking, errors_percent (ranking.py):
                         the one way proposals are ranked (the studio's engines and the model figures)
    set-up ............. enable_float64, require_float64, Float64Error, enable_compilation_cache
    spread ............. spread_band(theta, N, seed) -> (p05, p95)
    validity ........... hertz_valid, hertz_strain, HERTZ_LIMIT, contact_radius_mm, indentation_mm
    layout ............. plan_layout(h, R, E*, max load) / layout_for(asperities, E*) -> Layout, layout_faults
    metrics ............ smape, parameter_error, summary
"""
from studio.physics.friction import (  # noqa: F401
    HERTZ_LIMIT,
    LOAD_GRID_N,
    MAX_LOAD_N,
    N_LOADS,
    Float64Error,
    contact_radius_mm,
    enable_compilation_cache,
    enable_float64,
    fit_tau0_B,
    friction_law,
    friction_law_batch,
    hertz_strain,
    hertz_valid,
    indentation_mm,
    require_float64,
    single_sphere_friction,
)
from studio.physics.metrics import parameter_error, smape, summary  # noqa: F401
from studio.physics.realize import (  # noqa: F401
    Asperities,
    asperities_from_draws,
    base_draws,
    bucket_width,
    realize,
    realize_many,
    simulate,
    EXACT_BLOCK,
    FAST_BLOCK,
    simulate_and_realize,
    simulate_batch,
    simulate_fast,
    simulate_many,
    spread_band,
)
from studio.physics.theta import (  # noqa: F401
    B_IDX,
    COMPONENT_SIZE,
    E_STAR_IDX,
    MATERIAL_IDX,
    MAX_ASPERITIES,
    MIN_ASPERITIES,
    MU_H_IDX,
    MU_R_IDX,
    N_COMPONENTS,
    PER_COMPONENT,
    SD_H_IDX,
    SD_R_IDX,
    TAU0_IDX,
    THETA_LOWER,
    THETA_NAMES,
    THETA_SIZE,
    THETA_UNITS,
    THETA_UPPER,
    W_IDX,
    ThetaError,
    canonical,
    from_unit,
    normalise_weights,
    to_unit,
    validate,
    validate_asperity_count,
)
from studio.physics.ranking import Ranking, errors_percent, rank  # noqa: F401,E402
from studio.physics.layout import Layout, layout_faults, layout_for, plan_layout  # noqa: F401,E402
