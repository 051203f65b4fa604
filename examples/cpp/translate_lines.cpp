// Translates lines from a file (or stdin) with a qtool model, one per line out.
//   translate_lines MODEL [INPUT] [--beam N] [--threads N]
// MODEL is a .qtm file or a Marian checkpoint directory.
#include <qtool/translator.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  std::string model, input;
  qtool::TranslatorOptions options;  // every field has a default
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--beam" && i + 1 < argc) options.beam_size = std::atoi(argv[++i]);
    else if (arg == "--threads" && i + 1 < argc) options.threads = std::atoi(argv[++i]);
    else if (model.empty()) model = arg;
    else input = arg;
  }
  if (model.empty()) {
    std::fprintf(stderr, "usage: translate_lines MODEL [INPUT] [--beam N] [--threads N]\n");
    return 2;
  }
  try {
    std::ifstream file;
    if (!input.empty()) {
      file.open(input);
      if (!file) throw qtool::Error("translate_lines: cannot open " + input);
    }
    std::istream& in = input.empty() ? std::cin : file;
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);

    const qtool::Translator translator(model, options);
    for (const std::string& out : translator.translate(lines)) std::cout << out << '\n';
  } catch (const qtool::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());  // "qtool: error: <file>: <what>"
    return 1;
  }
  return 0;
}
