// Read-only memory mapping of a file region as an ArrayBuffer, for span index files that are far
// larger than the heap should hold. map(fd, offset, length) -> ArrayBuffer; the region is unmapped
// when the ArrayBuffer is garbage-collected (never explicitly, so no live view can outlive it).
#include <node_api.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace {

struct Region {
  void* base;
  size_t length;
};

void Unmap(napi_env, void*, void* hint) {
  Region* r = static_cast<Region*>(hint);
  munmap(r->base, r->length);
  delete r;
}

napi_value Throw(napi_env env, const char* message) {
  napi_throw_error(env, "ERR_OLMMAP", message);
  return nullptr;
}

napi_value Map(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 3)
    return Throw(env, "map(fd, offset, length) takes three numbers");
  int64_t args[3];
  for (int i = 0; i < 3; i++) {
    if (napi_get_value_int64(env, argv[i], &args[i]) != napi_ok || args[i] < 0)
      return Throw(env, "map(fd, offset, length) takes three non-negative integers");
  }
  const int fd = static_cast<int>(args[0]);
  const uint64_t offset = static_cast<uint64_t>(args[1]);
  const size_t length = static_cast<size_t>(args[2]);
  napi_value result;
  if (length == 0) {
    void* data;
    napi_create_arraybuffer(env, 0, &data, &result);
    return result;
  }
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t skip = offset % page;
  void* base = mmap(nullptr, length + skip, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(offset - skip));
  if (base == MAP_FAILED) return Throw(env, strerror(errno));
  // Binary searches touch pages at random: read-ahead would only evict useful pages.
  madvise(base, length + skip, MADV_RANDOM);
  Region* region = new Region{base, length + skip};
  if (napi_create_external_arraybuffer(env, static_cast<char*>(base) + skip, length, Unmap, region, &result) !=
      napi_ok) {
    munmap(base, length + skip);
    delete region;
    return Throw(env, "cannot wrap the mapping as an ArrayBuffer");
  }
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "map", NAPI_AUTO_LENGTH, Map, nullptr, &fn);
  napi_set_named_property(env, exports, "map", fn);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
