#include "optical_flow.h"

#include <cstring>
#include <opencv2/video/tracking.hpp>

extern "C" int hone_dis_flow(const uint8_t *from, const uint8_t *to, int width, int height, int preset,
                             float *flow, char *error, int error_size) {
    try {
        // Headers over the caller's buffers: nothing is copied in or out.
        const cv::Mat a(height, width, CV_8UC1, const_cast<uint8_t *>(from));
        const cv::Mat b(height, width, CV_8UC1, const_cast<uint8_t *>(to));
        cv::Mat out(height, width, CV_32FC2, flow);
        // One instance per call: DIS keeps per-size state, and calls come from several threads.
        cv::Ptr<cv::DISOpticalFlow> dis = cv::DISOpticalFlow::create(preset);
        dis->calc(a, b, out);
        if (out.data != reinterpret_cast<uchar *>(flow)) out.copyTo(cv::Mat(height, width, CV_32FC2, flow));
        return 0;
    } catch (const std::exception &e) {
        if (error_size > 0) {
            std::strncpy(error, e.what(), error_size - 1);
            error[error_size - 1] = 0;
        }
        return -1;
    }
}
