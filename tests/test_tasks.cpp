// placeholder: filled in by the test_tasks port
#include <catch2/catch.hpp>
