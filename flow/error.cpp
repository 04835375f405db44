#include "flow/error.h"

namespace flow {
namespace {

struct ErrorInfo {
  int32_t number;
  std::string_view name;
  std::string_view description;
};

constexpr ErrorInfo kErrors[] = {
#define ERROR(name, number, description) {number, #name, description},
#include "flow/error_codes.def"
#undef ERROR
};

const ErrorInfo* find(int32_t number) {
  for (const ErrorInfo& e : kErrors) {
    if (e.number == number) return &e;
  }
  return nullptr;
}

}  // namespace

std::string_view Error::name() const {
  const ErrorInfo* e = find(number());
  return e ? e->name : "unknown_error";
}

std::string_view Error::description() const {
  const ErrorInfo* e = find(number());
  return e ? e->description : "Unknown error";
}

bool is_known_error_code(int32_t number) {
  return find(number) != nullptr;
}

}  // namespace flow
