{
  "targets": [
    {
      "target_name": "evloop",
      "sources": [
        "native/core/inbox.cc",
        "native/core/loop.cc",
        "native/core/pool.cc",
        "native/core/tasks/sleep.cc",
        "native/core/tasks/fs.cc",
        "native/core/tasks/digest.cc",
        "native/core/tasks/zlib.cc",
        "native/core/tasks/dns.cc",
        "native/binding/addon.cc",
        "native/binding/registry.cc",
        "native/binding/loop_wrap.cc",
        "native/binding/pool_wrap.cc",
        "native/binding/tasks_binding.cc",
        "native/binding/c_api.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS=='linux'", {
          "cflags_cc": ["-fvisibility=hidden"],
          "ldflags": ["-static-libstdc++", "-static-libgcc", "-Wl,--exclude-libs,ALL"]
        }],
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "MACOSX_DEPLOYMENT_TARGET": "10.15"
          }
        }],
        ["OS=='win'", {
          "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17"] } }
        }]
      ]
    }
  ]
}
