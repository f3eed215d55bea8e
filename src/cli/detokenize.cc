#include "cli/detokenize.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "config/pipeline_config.h"
#include "core/strings.h"
#include "quality/pii/mask.h"
#include "quality/pii_policy.h"

namespace sluice {
namespace {

int Usage(const std::string& msg) {
  std::fprintf(stderr, "sluice: %s\n", msg.c_str());
  return 2;
}

// The tokenize secret of `column` in the pipeline's transforms.
Result<std::string> SecretFromPipeline(const std::string& path, const std::string& column) {
  ASSIGN_OR_RETURN(PipelineConfig cfg, LoadPipeline(path, BuiltinConnectors()));
  std::vector<std::string> tokenized;
  if (cfg.pii) {
    for (const auto& m : cfg.pii->masks()) {
      if (m.spec.method != "tokenize") continue;
      if (m.column == column) return m.spec.key;
      tokenized.push_back(m.column);
    }
  }
  return Status::InvalidArgument("pipeline " + cfg.name + " does not tokenize column '" + column + "'" +
                                 (tokenized.empty() ? std::string(" (no column is tokenized)")
                                                    : " (tokenized: " + Join(tokenized, ", ") + ")"));
}

}  // namespace

int CmdDetokenize(const DetokenizeArgs& args, const GlobalFlags& g, Logger& log) {
  std::string secret;
  if (!args.key_env.empty()) {
    const char* v = std::getenv(args.key_env.c_str());
    if (v == nullptr || *v == '\0') return Usage("environment variable " + args.key_env + " is not set");
    secret = v;
  } else if (!args.pipeline.empty() && !args.column.empty()) {
    auto s = SecretFromPipeline(args.pipeline, args.column);
    if (!s.ok()) return Usage(s.status().message());
    secret = std::move(s).value();
  } else {
    return Usage("detokenize needs PIPELINE.yaml --column COLUMN, or --key-env VARIABLE");
  }

  std::vector<std::string> tokens = args.tokens;
  const bool from_stdin = tokens.empty();
  if (from_stdin) {
    for (std::string line; std::getline(std::cin, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) tokens.push_back(line);
    }
  }
  int failed = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    auto value = Detokenize(secret, tokens[i]);
    if (!value.ok()) {
      ++failed;
      // The token is shown (it is not secret); the reason never includes the key.
      std::fprintf(stderr, "sluice: %s %zu: %s: %s\n", from_stdin ? "line" : "token", i + 1,
                   PrintableExcerpt(tokens[i], 80).c_str(), value.status().message().c_str());
      if (g.json) std::printf("{\"token\":%s,\"error\":%s}\n", JsonQuote(tokens[i]).c_str(), JsonQuote(value.status().message()).c_str());
      continue;
    }
    if (g.json) {
      std::printf("{\"token\":%s,\"value\":%s}\n", JsonQuote(tokens[i]).c_str(), JsonQuote(*value).c_str());
    } else {
      std::fwrite(value->data(), 1, value->size(), stdout);
      std::fputc('\n', stdout);
    }
  }
  // An audit line: who revealed how many values of which column (never the values).
  const char* user = std::getenv("USER");
  log.Info("detokenized", {{"user", user ? user : std::to_string(getuid())},
                           {"column", args.column.empty() ? "(key from " + args.key_env + ")" : args.column},
                           {"tokens", std::to_string(tokens.size())}, {"failed", std::to_string(failed)}});
  return failed > 0 ? 1 : 0;
}

}  // namespace sluice
