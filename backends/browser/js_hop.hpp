// The macrotask hop both browser backends use: Module.corioHop(f) runs f in a later
// macrotask — setImmediate in Node, a MessageChannel message in a page; never setTimeout(0),
// clamped to 4 ms, and never a microtask, which would starve rendering and I/O.
#pragma once

namespace corio::backends::browser_detail {

// Installs Module.corioHop once; call it before JS code that uses it.
void install_js_hop() noexcept;

}  // namespace corio::backends::browser_detail
