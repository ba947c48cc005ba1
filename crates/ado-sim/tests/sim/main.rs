//! The simulator's integration tests, one binary: REST shapes and paging, hook delivery rules,
//! fidelity to the shared fixtures, and the ground truth. They need neither the service nor a broker.

mod delivery;
mod rest;
mod shapes;
mod sim_common;
mod truth;
