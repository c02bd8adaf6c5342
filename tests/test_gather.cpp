// placeholder: filled in by the test_gather port
#include <catch2/catch.hpp>
