// A program whose exit status is checked under node: main() sleeps (so Emscripten has
// already returned from it once) and then returns, exits or throws, as argv[1] says.
#include <corio/corio.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

using namespace std::chrono_literals;

int main(int argc, char** argv) {
    const char* how = argc > 1 ? argv[1] : "return";
    if (std::strcmp(how, "nosleep") == 0) return 5;  // main never suspends
    int rc = corio::run([]() -> corio::Coro<int> {
        co_await corio::sleep(10ms);
        co_return 3;
    }());
    std::printf("main resumed after the loop\n");  // flushed at exit
    if (std::strcmp(how, "exit") == 0) std::exit(4);
    if (std::strcmp(how, "throw") == 0) throw std::runtime_error("escaped main");
    return rc;
}
