// Symbol visibility for the litetrain library. The library is built with
// hidden visibility; LITETRAIN_API marks the public surface.
#pragma once

#if defined(_WIN32)
#if defined(LITETRAIN_BUILDING_SHARED)
#define LITETRAIN_API __declspec(dllexport)
#elif defined(LITETRAIN_SHARED)
#define LITETRAIN_API __declspec(dllimport)
#else
#define LITETRAIN_API
#endif
#else
#define LITETRAIN_API __attribute__((visibility("default")))
#endif
