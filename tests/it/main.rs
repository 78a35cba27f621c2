//! The facade's end-to-end tests, one binary (uv's `tests/it` layout): the engine as a library
//! user drives it (`engine`) and the planner's describe step (`describe`), on local kinds.

mod describe;
mod engine;
