// The event loop's scheduling hint, the one call Node has no API for: sched_setattr(2) with a
// custom slice (Linux 6.12+, EEVDF). A fair task with a shorter slice gets an earlier virtual
// deadline, so on wake-up the kernel runs it instead of letting the task on the core finish a
// longer slice. Its share of the CPU is unchanged: only when it runs, not how much.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <node_api.h>

// The kernel's struct sched_attr (include/uapi/linux/sched/types.h), first version: glibc 2.36
// declares no wrapper for it.
struct slice_attr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
};

static napi_value throw_errno(napi_env env, const char *call) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", call, strerror(errno));
  napi_throw_error(env, NULL, message);
  return NULL;
}

static int read_attr(pid_t tid, struct slice_attr *attr) {
  memset(attr, 0, sizeof *attr);
  return (int)syscall(SYS_sched_getattr, tid, attr, sizeof *attr, 0);
}

static int32_t int_arg(napi_env env, napi_callback_info info, size_t index, int32_t fallback) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t value = fallback;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (index < argc) napi_get_value_int32(env, argv[index], &value);
  return value;
}

// slice(tid = 0): the thread's slice in ns as the kernel reports it (0 on kernels before 6.12,
// which report none for fair tasks). 0 is the calling thread.
static napi_value slice(napi_env env, napi_callback_info info) {
  struct slice_attr attr;
  if (read_attr(int_arg(env, info, 0, 0), &attr) != 0) return throw_errno(env, "sched_getattr");
  napi_value result;
  napi_create_double(env, (double)attr.sched_runtime, &result);
  return result;
}

// setSlice(ns): asks for this slice for the calling thread, keeping its policy and nice value;
// 0 gives it back the kernel's default. Returns the slice the kernel then reports.
static napi_value set_slice(napi_env env, napi_callback_info info) {
  int32_t ns = int_arg(env, info, 0, -1);
  if (ns < 0) {
    napi_throw_range_error(env, NULL, "setSlice: a slice in ns (0 to 2^31-1) is required");
    return NULL;
  }
  struct slice_attr attr;
  if (read_attr(0, &attr) != 0) return throw_errno(env, "sched_getattr");
  attr.size = sizeof attr;
  attr.sched_flags = 0;
  attr.sched_runtime = (uint64_t)ns;
  if (syscall(SYS_sched_setattr, 0, &attr, 0) != 0) return throw_errno(env, "sched_setattr");
  if (read_attr(0, &attr) != 0) return throw_errno(env, "sched_getattr");
  napi_value result;
  napi_create_double(env, (double)attr.sched_runtime, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "slice", NAPI_AUTO_LENGTH, slice, NULL, &fn);
  napi_set_named_property(env, exports, "slice", fn);
  napi_create_function(env, "setSlice", NAPI_AUTO_LENGTH, set_slice, NULL, &fn);
  napi_set_named_property(env, exports, "setSlice", fn);
  return exports;
}
