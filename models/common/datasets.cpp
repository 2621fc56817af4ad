#include "models/common/datasets.h"

#include "models/common/model_spec.h"

namespace cg::models {

std::unique_ptr<data::Dataset> create_dataset(const Options& opt, bool is_train) {
  if (const ModelSpec* spec = find_model(opt.model); spec && spec->dataset)
    return spec->dataset(opt, is_train);
  return standard_dataset(opt, is_train);
}

std::unique_ptr<data::Dataset> standard_dataset(const Options& opt, bool is_train) {
  data::DatasetOptions d;
  d.dataroot = opt.dataroot;
  d.phase = opt.phase;
  d.a_to_b = opt.direction == "AtoB";
  d.serial_batches = is_train ? opt.serial_batches : true;  // test.py: serial_batches = True
  d.input_nc = opt.input_nc;
  d.output_nc = opt.output_nc;
  d.max_dataset_size = opt.max_dataset_size;
  const bool flip = is_train && !opt.no_flip;  // test.py: no_flip = True
  d.preprocess = {opt.preprocess, opt.load_size, opt.crop_size, flip, 3, opt.max_pixels};
  if (opt.dataset_mode == "unaligned") return std::make_unique<data::UnalignedDataset>(d);
  if (opt.dataset_mode == "aligned") return std::make_unique<data::AlignedDataset>(d);
  if (opt.dataset_mode == "single") return std::make_unique<data::SingleDataset>(d);
  throw Error("--dataset_mode '" + opt.dataset_mode + "' is not one of unaligned, aligned, single");
}

}  // namespace cg::models
