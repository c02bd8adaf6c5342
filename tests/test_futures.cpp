// placeholder: filled in by the test_futures port
#include <catch2/catch.hpp>
