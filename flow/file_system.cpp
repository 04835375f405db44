#include "flow/file_system.h"

#include "flow/actor.h"

namespace flow {

Future<Void> IAsyncFile::write_and_sync(std::span<const uint8_t> data, int64_t offset) {
  Future<Void> written = write(data, offset);  // takes its copy of `data` now
  return spawn([this, written] {
    wait(written);
    wait(sync());
  });
}

}  // namespace flow
