// fatbuild: compile kernels.cu with NVRTC into one cubin per real
// architecture plus PTX for one virtual architecture, and bundle them with
// nvFatbin into a single fatbin — what `nvcc -fatbin -gencode …` does, with
// only the NVRTC and nvFatbin libraries (both on PyPI for CUDA 12.9; the
// cu12 nvcc wheel ships ptxas but no nvcc driver). build.sh compiles and
// runs it; it is not part of the Go build.
//
//   fatbuild -require 12.9 -src kernels.cu -I dir -sm 80,86,… -ptx 80 -o out.fatbin [-log file]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nvFatbin.h>
#include <nvrtc.h>

static void die(const char* what, const char* detail) {
  fprintf(stderr, "fatbuild: %s: %s\n", what, detail);
  exit(1);
}

static char* read_file(const char* path) {
  FILE* f = fopen(path, "rb");
  if (!f) die("open source", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char* buf = malloc(n + 1);
  if (fread(buf, 1, n, f) != (size_t)n) die("read source", path);
  buf[n] = 0;
  fclose(f);
  return buf;
}

// compile returns the cubin (real arch) or PTX (virtual arch) of src.
static char* compile(const char* src, const char* name, const char* incdir, const char* arch, int real,
                     size_t* size, FILE* logf) {
  nvrtcProgram prog;
  nvrtcResult r = nvrtcCreateProgram(&prog, src, name, 0, NULL, NULL);
  if (r != NVRTC_SUCCESS) die("nvrtcCreateProgram", nvrtcGetErrorString(r));
  char archopt[64], inc[4096];
  snprintf(archopt, sizeof archopt, "--gpu-architecture=%s_%s", real ? "sm" : "compute", arch);
  snprintf(inc, sizeof inc, "--include-path=%s", incdir);
  const char* opts[] = {archopt, inc, "--std=c++17", "--device-as-default-execution-space", "--ptxas-options=-v",
                        "--dopt=on"};
  int nopts = sizeof opts / sizeof opts[0];
  if (!real) nopts -= 2;  // ptxas options and device optimization apply to cubins only
  r = nvrtcCompileProgram(prog, nopts, opts);
  size_t logsz = 0;
  nvrtcGetProgramLogSize(prog, &logsz);
  if (logsz > 1) {
    char* log = malloc(logsz);
    nvrtcGetProgramLog(prog, log);
    if (logf) fprintf(logf, "==== %s ====\n%s\n", archopt, log);
    if (r != NVRTC_SUCCESS) fprintf(stderr, "%s\n", log);
    free(log);
  }
  if (r != NVRTC_SUCCESS) die(archopt, nvrtcGetErrorString(r));
  char* out;
  if (real) {
    nvrtcGetCUBINSize(prog, size);
    out = malloc(*size);
    nvrtcGetCUBIN(prog, out);
  } else {
    nvrtcGetPTXSize(prog, size);
    out = malloc(*size);
    nvrtcGetPTX(prog, out);
  }
  nvrtcDestroyProgram(&prog);
  return out;
}

int main(int argc, char** argv) {
  const char *require = NULL, *srcpath = NULL, *incdir = ".", *sms = NULL, *ptx = NULL, *outpath = NULL,
             *logpath = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "-require")) require = argv[i + 1];
    else if (!strcmp(argv[i], "-src")) srcpath = argv[i + 1];
    else if (!strcmp(argv[i], "-I")) incdir = argv[i + 1];
    else if (!strcmp(argv[i], "-sm")) sms = argv[i + 1];
    else if (!strcmp(argv[i], "-ptx")) ptx = argv[i + 1];
    else if (!strcmp(argv[i], "-o")) outpath = argv[i + 1];
    else if (!strcmp(argv[i], "-log")) logpath = argv[i + 1];
    else die("unknown flag", argv[i]);
  }
  if (!srcpath || !sms || !outpath) die("usage", "fatbuild [-require M.m] -src F -I DIR -sm 80,90 [-ptx 80] -o OUT");

  int maj, min;
  nvrtcVersion(&maj, &min);
  char ver[32];
  snprintf(ver, sizeof ver, "%d.%d", maj, min);
  if (require && strcmp(require, ver) != 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "NVRTC is %s, build.sh pins %s", ver, require);
    die("version", msg);
  }
  unsigned fmaj, fmin;
  nvFatbinVersion(&fmaj, &fmin);
  printf("fatbuild: NVRTC %s, nvFatbin %u.%u\n", ver, fmaj, fmin);

  char* src = read_file(srcpath);
  FILE* logf = logpath ? fopen(logpath, "w") : NULL;
  nvFatbinHandle fb;
  const char* fbopts[] = {"-64"};
  nvFatbinResult fr = nvFatbinCreate(&fb, fbopts, 1);
  if (fr != NVFATBIN_SUCCESS) die("nvFatbinCreate", nvFatbinGetErrorString(fr));

  char list[256];
  snprintf(list, sizeof list, "%s", sms);
  for (char* a = strtok(list, ","); a; a = strtok(NULL, ",")) {
    size_t n;
    char* cubin = compile(src, "kernels.cu", incdir, a, 1, &n, logf);
    fr = nvFatbinAddCubin(fb, cubin, n, a, "kernels");
    if (fr != NVFATBIN_SUCCESS) die("nvFatbinAddCubin", nvFatbinGetErrorString(fr));
    printf("fatbuild: sm_%s cubin %zu bytes\n", a, n);
    fflush(stdout);
    free(cubin);
  }
  if (ptx) {
    size_t n;
    char* p = compile(src, "kernels.cu", incdir, ptx, 0, &n, logf);
    // nvrtcGetPTX's size counts the terminating NUL; nvFatbin wants the text.
    fr = nvFatbinAddPTX(fb, p, strlen(p), ptx, "kernels", NULL);
    if (fr != NVFATBIN_SUCCESS) die("nvFatbinAddPTX", nvFatbinGetErrorString(fr));
    printf("fatbuild: compute_%s PTX %zu bytes\n", ptx, n);
    free(p);
  }
  size_t total;
  nvFatbinSize(fb, &total);
  char* out = malloc(total);
  fr = nvFatbinGet(fb, out);
  if (fr != NVFATBIN_SUCCESS) die("nvFatbinGet", nvFatbinGetErrorString(fr));
  FILE* f = fopen(outpath, "wb");
  if (!f || fwrite(out, 1, total, f) != total) die("write", outpath);
  fclose(f);
  nvFatbinDestroy(&fb);
  if (logf) fclose(logf);
  printf("fatbuild: wrote %s (%zu bytes)\n", outpath, total);
  return 0;
}
