// Catch2 entry point with one extra option, --backend (libuv, virtual_time, browser): the
// same core tests run once per backend, registered as separate `meson test` entries.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "support.hpp"

int main(int argc, char* argv[]) {
    Catch::Session session;
    std::string backend = corio_test::default_backend_name();
    using namespace Catch::clara;
    session.cli(session.cli() | Opt(backend, "name")["--backend"]("libuv, virtual_time or browser"));
    if (int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
    if (!corio_test::select_backend(backend)) {
        std::fprintf(stderr, "unknown --backend '%s'\n", backend.c_str());
        return 2;
    }
    return session.run();
}
