{
  "targets": [
    {
      "target_name": "evloop_test_addon",
      "sources": ["evloop_test_addon.c"],
      # What another package writes: "<!(node -p \"require('evloop').include\")". Here the package
      # is this repository's build; native-api.js is read directly so that this builds whether or
      # not the index re-exports `include` yet.
      "include_dirs": ["<!(node -p \"require('../../dist/cjs/native-api.js').include\")"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-pthread"],
      "ldflags": ["-pthread"]
    }
  ]
}
