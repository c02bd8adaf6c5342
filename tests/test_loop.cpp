// placeholder: filled in by the test_loop port
#include <catch2/catch.hpp>
