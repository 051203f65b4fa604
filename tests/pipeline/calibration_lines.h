// Source lines of the kind the bundled model was trained on, for the pipeline
// tests that run it over calibration sentences.
#pragma once
#include <string>
#include <vector>

namespace qtool::test {

inline const std::vector<std::string> kCalibrationLines = {
    "the package contains the documentation",
    "this is a tool for converting files between formats",
    "library for reading and writing compressed archives",
    "a longer line with several words to decode into something",
    "this package provides the development files",
    "command line interface to the server",
    "fonts for the graphical desktop environment",
    "the program can also print the result as a table",
    "utilities for managing the network configuration",
    "this is a transitional dummy package and can be safely removed",
    "plugin for the music player",
    "python bindings for the library",
};

}  // namespace qtool::test
