// Edge maps for the edges2shoes-style demo: Canny's detector (Canny 1986) on a gray image, drawn as
// black lines one pixel wide on white, as the pix2pix paper's edges2shoes inputs look. These are
// not the paper's edges: those came from HED (Xie and Tu 2015), a trained network, and were
// post-processed; Canny's come from the image gradient alone.
#pragma once

#include "data/image.h"

namespace cg::data {

struct CannyOptions {
  double sigma = 1.0;  // the Gaussian blur before the gradient (in pixels)
  double low = 0.1;    // hysteresis thresholds, as fractions of the image's largest gradient magnitude
  double high = 0.3;
};

// A gray image the size of `gray` (1 channel): 0 on the edges, 255 elsewhere. The steps: Gaussian
// blur, Sobel gradients, non-maximum suppression along the gradient (which thins the edges to one
// pixel), then hysteresis (strong pixels, and weak ones connected to them). A flat image has no edges.
Image canny_edges(const Image& gray, const CannyOptions& opt = {});

}  // namespace cg::data
