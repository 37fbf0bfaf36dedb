//! Experiments: the paper's numbers ([`paper`]), hyper-parameter grids ([`grid`]), one run
//! ([`job`]), model selection on validation error ([`select`]), results files ([`report`]),
//! sweeps on a Slurm cluster or locally ([`sweep`]) and the one-command reproduction
//! ([`reproduce`]).

pub mod claim;
pub mod cli;
pub mod grid;
pub mod job;
pub mod paper;
pub mod report;
pub mod reproduce;
pub mod select;
pub mod sweep;
