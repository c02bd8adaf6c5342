// Module.corioHop, for the program build's backend and the library build's pump (js_hop.hpp).
#include "js_hop.hpp"

#include <emscripten.h>

namespace {
EM_JS(void, corio_js_hop_setup, (), {
    if (Module.corioHop) return;
    if (typeof setImmediate === 'function') {
        Module.corioHop = setImmediate;
        return;
    }
    var channel = new MessageChannel();
    var queue = [];
    channel.port1.onmessage = function() { queue.shift()(); };
    Module.corioHop = function(f) { queue.push(f); channel.port2.postMessage(0); };
});
}  // namespace

namespace corio::backends::browser_detail {
void install_js_hop() noexcept { corio_js_hop_setup(); }
}  // namespace corio::backends::browser_detail
