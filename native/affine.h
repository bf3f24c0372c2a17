// Sampling an image at transformed coordinates, shared by ImageDataGenerator's transforms (augment.cc,
// scipy.ndimage's semantics as keras_preprocessing uses them) and the Random* preprocessing layers
// (preprocessing.cc, Keras 3's map_coordinates: per-neighbour constant fill and whole-period wrap).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

namespace keras_torch {

// Nearest, Constant, Reflect and Wrap are scipy.ndimage's (keras_preprocessing); GridConstant and GridWrap
// are Keras 3's 'constant' and 'wrap' (scipy's modes of those names): each neighbour outside the image
// takes the fill value, and the image repeats with period `length`.
enum class FillMode { Nearest, Constant, Reflect, Wrap, GridConstant, GridWrap };

// One axis of scipy.ndimage's order-1 interpolation: the two neighbours and the weight of the second,
// after scipy 1.10's boundary handling for `mode` (map_coordinate in ni_interpolation.c).
struct AxisSample {
  int64_t low, high;
  double weight;
  bool inside;  // false: the point takes cval (constant mode only)
  bool lowInside = true, highInside = true;  // false: that neighbour takes cval (grid-constant mode only)
};

inline int64_t ReflectIndex(int64_t index, int64_t length) {
  // Half-sample symmetric extension (d c b a | a b c d | d c b a), period 2 * length.
  if (length == 1) return 0;
  int64_t period = 2 * length;
  int64_t m = index % period;
  if (m < 0) m += period;
  return m >= length ? period - 1 - m : m;
}

inline AxisSample SampleAxis(double coordinate, int64_t length, FillMode mode) {
  AxisSample sample{0, 0, 0, true};
  double c = coordinate;
  switch (mode) {
    case FillMode::Constant:
      if (c < 0 || c > static_cast<double>(length - 1)) {
        sample.inside = false;
        return sample;
      }
      break;
    case FillMode::Nearest:
      c = std::min(std::max(c, 0.0), static_cast<double>(length - 1));
      break;
    case FillMode::Wrap: {
      // scipy's 'wrap' overlaps the first and last samples: its period is length - 1.
      if (length <= 1) {
        c = 0;
      } else if (c < 0) {
        double size = static_cast<double>(length - 1);
        c += size * (static_cast<double>(static_cast<int64_t>(-c / size)) + 1);
      } else if (c > static_cast<double>(length - 1)) {
        double size = static_cast<double>(length - 1);
        c -= size * static_cast<double>(static_cast<int64_t>(c / size));
      }
      break;
    }
    case FillMode::GridConstant: {
      double floor = std::floor(c);
      auto start = static_cast<int64_t>(floor);
      sample.low = std::min(std::max<int64_t>(start, 0), length - 1);
      sample.high = std::min(std::max<int64_t>(start + 1, 0), length - 1);
      sample.lowInside = start >= 0 && start < length;
      sample.highInside = start + 1 >= 0 && start + 1 < length;
      sample.weight = c - floor;
      return sample;
    }
    case FillMode::GridWrap: {
      double floor = std::floor(c);
      auto start = static_cast<int64_t>(floor);
      sample.low = ((start % length) + length) % length;
      sample.high = (((start + 1) % length) + length) % length;
      sample.weight = c - floor;
      return sample;
    }
    case FillMode::Reflect: {
      double floor = std::floor(c);
      auto start = static_cast<int64_t>(floor);
      sample.low = ReflectIndex(start, length);
      sample.high = ReflectIndex(start + 1, length);
      sample.weight = c - floor;
      return sample;
    }
  }
  double floor = std::floor(c);
  auto start = static_cast<int64_t>(floor);
  sample.low = std::min(std::max<int64_t>(start, 0), length - 1);
  sample.high = std::min(std::max<int64_t>(start + 1, 0), length - 1);
  sample.weight = c - floor;
  return sample;
}

using Matrix3 = std::array<std::array<double, 3>, 3>;

// Where the pixel at (row, col) goes: flips are applied by writing mirrored. They commute with the steps
// Keras runs between the affine transform and them (channel shift and brightness use the image-wide
// minimum and maximum), so the result is the same as flipping afterwards.
struct Placement {
  bool flipHorizontal = false, flipVertical = false;
  // Multiplies every written value: the rescale when nothing between the transform and it needs the
  // unscaled values, else 1 (x * 1.0f is exact).
  float scale = 1.0f;
  // Order-0 sampling (Keras's interpolation 'nearest'): coordinates round to the nearest pixel, ties to
  // even as torch.round does.
  bool nearestNeighbour = false;
};

// scipy.ndimage.affine_transform with order 1 (or 0 with `nearestNeighbour`), per channel, into `target` placed as `placement` says.
// Templated on the source type (uint8 pixels are read directly: their double values are the same as the
// float copies') and on the fill mode (the per-axis switch disappears from the inner loop).
template <typename Source, FillMode kMode>
void ApplyAffine(const Source* source, float* target, int64_t height, int64_t width, int64_t channels,
                 const Matrix3& m, double cval, const Placement& placement) {
  const float fill = static_cast<float>(cval) * placement.scale;
  for (int64_t row = 0; row < height; ++row) {
    const int64_t outRow = placement.flipVertical ? height - 1 - row : row;
    for (int64_t col = 0; col < width; ++col) {
      // scipy: input coordinate = matrix . output coordinate + offset, accumulated in this order.
      double inRow = (0.0 + static_cast<double>(row) * m[0][0] + static_cast<double>(col) * m[0][1]) + m[0][2];
      double inCol = (0.0 + static_cast<double>(row) * m[1][0] + static_cast<double>(col) * m[1][1]) + m[1][2];
      if (placement.nearestNeighbour) {
        inRow = std::nearbyint(inRow);
        inCol = std::nearbyint(inCol);
      }
      const int64_t outCol = placement.flipHorizontal ? width - 1 - col : col;
      float* out = target + (outRow * width + outCol) * channels;
      AxisSample r = SampleAxis(inRow, height, kMode);
      AxisSample c = SampleAxis(inCol, width, kMode);
      if (!r.inside || !c.inside) {
        for (int64_t ch = 0; ch < channels; ++ch) out[ch] = fill;
        continue;
      }
      const Source* p00 = source + (r.low * width + c.low) * channels;
      const Source* p01 = source + (r.low * width + c.high) * channels;
      const Source* p10 = source + (r.high * width + c.low) * channels;
      const Source* p11 = source + (r.high * width + c.high) * channels;
      double w00 = (1 - r.weight) * (1 - c.weight), w01 = (1 - r.weight) * c.weight;
      double w10 = r.weight * (1 - c.weight), w11 = r.weight * c.weight;
      if constexpr (kMode == FillMode::GridConstant) {
        const double fillValue = static_cast<double>(fill);
        for (int64_t ch = 0; ch < channels; ++ch) {
          auto at = [&](const Source* p, bool inside) { return inside ? static_cast<double>(p[ch]) * placement.scale : fillValue; };
          double value = w00 * at(p00, r.lowInside && c.lowInside) + w01 * at(p01, r.lowInside && c.highInside) +
                         w10 * at(p10, r.highInside && c.lowInside) + w11 * at(p11, r.highInside && c.highInside);
          out[ch] = static_cast<float>(value);
        }
        continue;
      }
      for (int64_t ch = 0; ch < channels; ++ch) {
        double value = w00 * static_cast<double>(p00[ch]) + w01 * static_cast<double>(p01[ch]) +
                       w10 * static_cast<double>(p10[ch]) + w11 * static_cast<double>(p11[ch]);
        out[ch] = static_cast<float>(value) * placement.scale;
      }
    }
  }
}

template <typename Source>
void ApplyAffine(const Source* source, float* target, int64_t height, int64_t width, int64_t channels,
                 const Matrix3& m, FillMode mode, double cval, const Placement& placement) {
  switch (mode) {
    case FillMode::Nearest:
      return ApplyAffine<Source, FillMode::Nearest>(source, target, height, width, channels, m, cval, placement);
    case FillMode::Constant:
      return ApplyAffine<Source, FillMode::Constant>(source, target, height, width, channels, m, cval, placement);
    case FillMode::Reflect:
      return ApplyAffine<Source, FillMode::Reflect>(source, target, height, width, channels, m, cval, placement);
    case FillMode::Wrap:
      return ApplyAffine<Source, FillMode::Wrap>(source, target, height, width, channels, m, cval, placement);
    case FillMode::GridConstant:
      return ApplyAffine<Source, FillMode::GridConstant>(source, target, height, width, channels, m, cval, placement);
    case FillMode::GridWrap:
      return ApplyAffine<Source, FillMode::GridWrap>(source, target, height, width, channels, m, cval, placement);
  }
}

}  // namespace keras_torch
