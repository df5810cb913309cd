// A C interface to OpenCV's DIS optical flow (Kroeger et al., ECCV 2016),
// so Swift can call it without C++ interop.
#ifndef HONE_OPTICAL_FLOW_H
#define HONE_OPTICAL_FLOW_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Dense flow from `from` to `to`, two 8-bit greyscale pictures of width × height
/// (rows packed): afterwards `flow[2 * (y * width + x)]` and `[... + 1]` hold
/// (dx, dy) in pixels such that from(x, y) ≈ to(x + dx, y + dy).
/// `preset` is OpenCV's: 0 ultrafast, 1 fast, 2 medium.
/// Returns 0, or -1 when OpenCV failed (its message is then in `error`, at most `error_size` bytes).
int hone_dis_flow(const uint8_t *from, const uint8_t *to, int width, int height, int preset,
                  float *flow, char *error, int error_size);

#ifdef __cplusplus
}
#endif

#endif
