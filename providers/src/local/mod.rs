//! Local resource kinds: no cloud, only state.
