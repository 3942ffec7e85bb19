#include "tasks_binding.h"

#include <string>

#include "../core/tasks/tasks.h"

namespace evloop {

namespace {

tasks::Bytes CopyBytes(const Napi::Value& value) {
  if (value.IsString()) {
    std::string s = value.As<Napi::String>().Utf8Value();
    return tasks::Bytes(s.begin(), s.end());
  }
  auto view = value.As<Napi::TypedArray>();
  auto* data = static_cast<uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset();
  return tasks::Bytes(data, data + view.ByteLength());
}

Napi::Value FailureToJs(Napi::Env env, const tasks::Failure& failure) {
  Napi::Object error = failure.name == "RangeError"  ? Napi::RangeError::New(env, failure.message).Value()
                       : failure.name == "TypeError" ? Napi::TypeError::New(env, failure.message).Value()
                                                     : Napi::Error::New(env, failure.message).Value();
  if (failure.errnum != 0) error.Set("errno", Napi::Number::New(env, failure.errnum));
  if (!failure.code.empty()) error.Set("code", Napi::String::New(env, failure.code));
  if (!failure.syscall.empty()) error.Set("syscall", Napi::String::New(env, failure.syscall));
  if (failure.has_path || !failure.path.empty()) error.Set("path", Napi::String::New(env, failure.path));
  if (!failure.hostname.empty()) error.Set("hostname", Napi::String::New(env, failure.hostname));
  return error;
}

Napi::Value BytesToJs(Napi::Env env, tasks::Bytes& bytes) {
  // Copied into a buffer V8's collector frees: an external buffer's finalizer runs only when
  // Node's own loop turns, so results would pile up while a private loop blocks the thread.
  Napi::Value value = Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size());
  tasks::Bytes().swap(bytes);
  return value;
}

// Each task: arguments in, run() on a pool thread, result() on the loop's thread.
class Task : public BoundWork {
 public:
  using BoundWork::BoundWork;
  void run() override { status = execute() ? Status::kDone : Status::kFailed; }
  Napi::Value settle(Napi::Env env) override {
    return status == Status::kFailed ? FailureToJs(env, failure_) : result(env);
  }
  virtual bool execute() = 0;
  virtual Napi::Value result(Napi::Env env) { return env.Undefined(); }

 protected:
  tasks::Failure failure_;
};

class Sleep : public Task {
 public:
  Sleep(std::shared_ptr<Inbox> inbox, uint64_t id, double ms) : Task(std::move(inbox), id), ms_(ms) {}
  bool execute() override {
    tasks::sleep_ms(ms_);
    return true;
  }

 private:
  double ms_;
};

class ReadFile : public Task {
 public:
  ReadFile(std::shared_ptr<Inbox> inbox, uint64_t id, std::string path)
      : Task(std::move(inbox), id), path_(std::move(path)) {}
  bool execute() override { return tasks::read_file(path_, out_, failure_); }
  Napi::Value result(Napi::Env env) override { return BytesToJs(env, out_); }

 private:
  std::string path_;
  tasks::Bytes out_;
};

class WriteFile : public Task {
 public:
  WriteFile(std::shared_ptr<Inbox> inbox, uint64_t id, std::string path, tasks::Bytes data)
      : Task(std::move(inbox), id), path_(std::move(path)), data_(std::move(data)) {}
  bool execute() override { return tasks::write_file(path_, data_.data(), data_.size(), failure_); }

 private:
  std::string path_;
  tasks::Bytes data_;
};

class Digest : public Task {
 public:
  Digest(std::shared_ptr<Inbox> inbox, uint64_t id, std::string algorithm, tasks::Bytes data)
      : Task(std::move(inbox), id), algorithm_(std::move(algorithm)), data_(std::move(data)) {}
  bool execute() override { return tasks::digest(algorithm_, data_.data(), data_.size(), out_, failure_); }
  Napi::Value result(Napi::Env env) override { return BytesToJs(env, out_); }

 private:
  std::string algorithm_;
  tasks::Bytes data_, out_;
};

class Gzip : public Task {
 public:
  Gzip(std::shared_ptr<Inbox> inbox, uint64_t id, tasks::Bytes data, int level)
      : Task(std::move(inbox), id), data_(std::move(data)), level_(level) {}
  bool execute() override { return tasks::gzip(data_.data(), data_.size(), level_, out_, failure_); }
  Napi::Value result(Napi::Env env) override { return BytesToJs(env, out_); }

 private:
  tasks::Bytes data_, out_;
  int level_;
};

class Gunzip : public Task {
 public:
  Gunzip(std::shared_ptr<Inbox> inbox, uint64_t id, tasks::Bytes data)
      : Task(std::move(inbox), id), data_(std::move(data)) {}
  bool execute() override { return tasks::gunzip(data_.data(), data_.size(), out_, failure_); }
  Napi::Value result(Napi::Env env) override { return BytesToJs(env, out_); }

 private:
  tasks::Bytes data_, out_;
};

class Lookup : public Task {
 public:
  Lookup(std::shared_ptr<Inbox> inbox, uint64_t id, std::string hostname, int family)
      : Task(std::move(inbox), id), hostname_(std::move(hostname)), family_(family) {}
  bool execute() override { return tasks::lookup(hostname_, family_, out_, failure_); }
  Napi::Value result(Napi::Env env) override {
    auto list = Napi::Array::New(env, out_.size());
    for (size_t i = 0; i < out_.size(); i++) {
      auto entry = Napi::Object::New(env);
      entry.Set("address", Napi::String::New(env, out_[i].address));
      entry.Set("family", Napi::Number::New(env, out_[i].family));
      list.Set(static_cast<uint32_t>(i), entry);
    }
    return list;
  }

 private:
  std::string hostname_;
  int family_;
  std::vector<tasks::Address> out_;
};

}  // namespace

std::unique_ptr<BoundWork> MakeTask(const Napi::CallbackInfo& info, size_t first,
                                    std::shared_ptr<Inbox> inbox, uint64_t id) {
  std::string name = info[first].As<Napi::String>().Utf8Value();
  auto arg = [&](size_t i) { return info[first + 1 + i]; };
  auto str = [&](size_t i) { return arg(i).As<Napi::String>().Utf8Value(); };
  auto num = [&](size_t i) { return arg(i).As<Napi::Number>().DoubleValue(); };
  if (name == "sleep") return std::make_unique<Sleep>(std::move(inbox), id, num(0));
  if (name == "readFile") return std::make_unique<ReadFile>(std::move(inbox), id, str(0));
  if (name == "writeFile") return std::make_unique<WriteFile>(std::move(inbox), id, str(0), CopyBytes(arg(1)));
  if (name == "digest") return std::make_unique<Digest>(std::move(inbox), id, str(0), CopyBytes(arg(1)));
  if (name == "gzip")
    return std::make_unique<Gzip>(std::move(inbox), id, CopyBytes(arg(0)), static_cast<int>(num(1)));
  if (name == "gunzip") return std::make_unique<Gunzip>(std::move(inbox), id, CopyBytes(arg(0)));
  if (name == "lookup") return std::make_unique<Lookup>(std::move(inbox), id, str(0), static_cast<int>(num(1)));
  return nullptr;
}

Napi::Value RunTaskSync(const Napi::CallbackInfo& info) {
  auto task = MakeTask(info, 0, nullptr, 0);
  if (!task) throw Napi::TypeError::New(info.Env(), "unknown native task");
  task->run();
  Napi::Value value = task->settle(info.Env());
  if (task->status == Work::Status::kFailed) throw Napi::Error(info.Env(), value);
  return value;
}

Napi::Value DigestSupported(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), tasks::digest_supported(info[0].As<Napi::String>().Utf8Value()));
}

}  // namespace evloop
