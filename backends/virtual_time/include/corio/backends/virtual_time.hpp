// The virtual-time backend, for tests: no I/O, and when nothing is ready the clock jumps
// straight to the next timer. A test of a 10 s timeout finishes at once, in the same order
// every run. The clock starts at 0 and only moves forward.
#pragma once

#include <memory>

#include "corio/backend.hpp"

namespace corio::backends {

std::shared_ptr<Backend> virtual_time();

}  // namespace corio::backends
