#pragma once
#include <png.h>
// Composite macros that Swift does not import.
static const unsigned int CPNG_FORMAT_FLAG_COLOR = PNG_FORMAT_FLAG_COLOR;
static const unsigned int CPNG_FORMAT_RGB = PNG_FORMAT_RGB;
