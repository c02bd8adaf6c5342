// A user program built from outside the project (pkg-config, or corio as a meson subproject).
#include <corio/corio.hpp>

#include <cstdio>

using namespace std::chrono_literals;

corio::Coro<int> answer() {
    co_await corio::sleep(1ms);
    co_return 42;
}

int main() { std::printf("consumer: %d\n", corio::run(answer())); }
