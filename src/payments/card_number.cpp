#include "payments/card_number.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace boxoffice {
namespace {

namespace json = boost::json;

// JSON nests at most 32 deep in a request (ParseJsonBody), so recursion is bounded.
bool Search(const json::value& value, std::string& path) {
  if (const json::string* text = value.if_string()) {
    return ContainsCardNumber(std::string_view(text->data(), text->size()));
  }
  if (const json::array* array = value.if_array()) {
    for (std::size_t i = 0; i < array->size(); ++i) {
      const std::size_t before = path.size();
      path += "[" + std::to_string(i) + "]";
      if (Search((*array)[i], path)) return true;
      path.resize(before);
    }
    return false;
  }
  if (const json::object* object = value.if_object()) {
    for (const auto& field : *object) {
      const std::size_t before = path.size();
      if (!path.empty()) path += '.';
      // A key holding the number is named by a placeholder: the path must not carry it.
      if (ContainsCardNumber(std::string_view(field.key().data(), field.key().size()))) {
        path += "<key>";
        return true;
      }
      path.append(field.key().data(), field.key().size());
      if (Search(field.value(), path)) return true;
      path.resize(before);
    }
  }
  return false;
}

}  // namespace

std::optional<std::string> FindCardNumber(const json::value& body) {
  std::string path;
  if (Search(body, path)) return path;
  return std::nullopt;
}

Error RawCardNumberError(const std::string& field) {
  return Error::Make(ErrorKind::kMalformed, "raw_card_number",
                     "Card numbers are never accepted; send the payment gateway's card token.",
                     {{"field", field}});
}

}  // namespace boxoffice
