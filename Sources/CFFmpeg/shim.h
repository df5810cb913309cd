#include <errno.h>
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/display.h>
#include <libavutil/mastering_display_metadata.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libavutil/video_enc_params.h>

// FFmpeg's error codes are function-like macros, which Swift cannot import.
static inline int hone_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int hone_averror_eof(void) { return AVERROR_EOF; }
static inline int hone_averror(int posix) { return AVERROR(posix); }
static inline int hone_averror_stream_not_found(void) { return AVERROR_STREAM_NOT_FOUND; }
static inline int hone_averror_decoder_not_found(void) { return AVERROR_DECODER_NOT_FOUND; }
