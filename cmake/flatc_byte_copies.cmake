# Run on each header flatc generates. Its object API copies a [ubyte] vector into the native
# std::vector element by element through flatbuffers' iterator, which compilers do not turn into
# a memcpy: a run moving megabyte payloads spent about a tenth of its time there. This rewrites
# those copies to copy from the vector's contiguous bytes; the static_assert keeps the rewrite to
# one-byte elements (wider scalars are stored little-endian and must go through the accessor).
#   cmake -DFILE=<generated header> -P flatc_byte_copies.cmake
file(READ "${FILE}" text)
string(REGEX REPLACE
  "std::copy\\(_e->begin\\(\\), _e->end\\(\\), _o->([A-Za-z0-9_]+)\\.begin\\(\\)\\);"
  "static_assert(sizeof(*_e->data()) == 1); std::copy(_e->data(), _e->data() + _e->size(), _o->\\1.begin());"
  text "${text}")
file(WRITE "${FILE}" "${text}")
