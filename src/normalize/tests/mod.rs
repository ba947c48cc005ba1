//! Tests of the per-type normalizers over the real samples (`../shared/fixtures`) and the
//! project-made ones (`tests/fixtures/hooks`): concrete ids, people, times, refs, transitions,
//! routing keys; identity stability; and property tests against hostile input.

mod build;
mod git_push;
mod identity;
mod pipelines;
mod proptests;
mod pull_request;
mod release;
mod support;
mod tfvc;
mod workitem;
