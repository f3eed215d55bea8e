#pragma once
// `sluice detokenize`: turns tokens written by the `tokenize` mask back into their values, for
// a user who holds the secret. The secret comes from the pipeline's mask transform for the column
// (which reads it from ${ENV} or ${file:}), or from an environment variable named with
// --key-env; never from the command line, where it would land in shell history and `ps`.

#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/log.h"

namespace sluice {

struct DetokenizeArgs {
  std::string pipeline;  // PIPELINE.yaml, with --column
  std::string column;
  std::string key_env;   // or the name of an environment variable holding the secret
  std::vector<std::string> tokens;  // empty: one token per line on stdin
};

int CmdDetokenize(const DetokenizeArgs& args, const GlobalFlags& g, Logger& log);

}  // namespace sluice
