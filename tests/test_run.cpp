// placeholder: filled in by the test_run port
#include <catch2/catch.hpp>
