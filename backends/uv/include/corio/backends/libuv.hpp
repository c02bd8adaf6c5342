// The native backend: libuv. corio's own uv loop by default, or a loop the application
// already owns (its other handles keep working while corio runs on it).
#pragma once

#include <memory>

#include "corio/backend.hpp"

typedef struct uv_loop_s uv_loop_t;  // the same typedef as <uv.h>, so users need not include it

namespace corio::backends {

// A backend on a uv loop of its own, created on first use and closed with the backend.
std::shared_ptr<Backend> libuv();
// A backend on `loop`, which stays the caller's: corio adds two handles while it runs and
// closes them when its loop closes; it never closes `loop` itself.
std::shared_ptr<Backend> libuv(uv_loop_t* loop);

// The uv loop a libuv backend runs on (nullptr if `backend` is not a libuv backend).
uv_loop_t* uv_loop_of(Backend& backend) noexcept;

}  // namespace corio::backends
