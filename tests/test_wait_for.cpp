// placeholder: filled in by the test_wait_for port
#include <catch2/catch.hpp>
