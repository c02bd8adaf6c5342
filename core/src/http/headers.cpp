// Headers: a vector of fields, looked up without regard to case (a request has a dozen).
#include "corio/http/headers.hpp"

#include <algorithm>

namespace corio::http {

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

Headers::Headers(std::initializer_list<value_type> fields) : fields_(fields) {}

void Headers::add(std::string name, std::string value) { fields_.emplace_back(std::move(name), std::move(value)); }

void Headers::set(std::string name, std::string value) {
    erase(name);
    fields_.emplace_back(std::move(name), std::move(value));
}

std::size_t Headers::erase(std::string_view name) {
    const auto before = fields_.size();
    fields_.erase(std::remove_if(fields_.begin(), fields_.end(), [&](const value_type& f) { return iequals(f.first, name); }),
                  fields_.end());
    return before - fields_.size();
}

Headers::const_iterator Headers::find(std::string_view name) const {
    return std::find_if(fields_.begin(), fields_.end(), [&](const value_type& f) { return iequals(f.first, name); });
}

std::size_t Headers::count(std::string_view name) const {
    return static_cast<std::size_t>(
        std::count_if(fields_.begin(), fields_.end(), [&](const value_type& f) { return iequals(f.first, name); }));
}

std::optional<std::string> Headers::get(std::string_view name) const {
    auto it = find(name);
    if (it == end()) return std::nullopt;
    return it->second;
}

std::vector<std::string> Headers::get_all(std::string_view name) const {
    std::vector<std::string> out;
    for (auto& f : fields_)
        if (iequals(f.first, name)) out.push_back(f.second);
    return out;
}

}  // namespace corio::http
