// corio::http in wasm: the JS fetch() of the page or of Node as an http::detail::Engine,
// for both browser backends (the program build's and the library build's).
#pragma once

#include <memory>

#include "corio/http/client_session.hpp"
#include "corio/http/engine.hpp"

namespace corio::backends::browser_detail {

std::unique_ptr<http::detail::Engine> make_fetch_engine(const http::SessionOptions& options);

// Hands the fetches that finished since the last call to the tasks awaiting them. The
// backends call it from poll() and after each wait: JS only queues a finished fetch and
// wakes the loop, so no JS callback ever enters C++ in the middle of a step (or, in the
// program build, while Asyncify has the stack unwound).
// Returns whether it handed any over.
bool drain_fetches() noexcept;

}  // namespace corio::backends::browser_detail
