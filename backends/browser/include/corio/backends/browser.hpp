// The browser backend (Emscripten): corio's loop on the event loop of the page or of Node.
// The default under Emscripten. It never blocks the page: while the loop waits, the wasm
// stack is suspended (Asyncify) and the JS event loop runs. See wasm/README.md.
#pragma once

#include <memory>

#include "corio/backend.hpp"

namespace corio::backends {

// A backend on the JS event loop of the main runtime thread (the page's, or Node's main
// thread). Hops go through a macrotask (setImmediate in Node, a MessageChannel in a page),
// delays through setTimeout; wake() works from JS callbacks and from worker threads.
// to_thread runs on Web Workers (the build uses -pthread).
std::shared_ptr<Backend> browser();

}  // namespace corio::backends
