// Shared by every limarp compute shader: one descriptor layout for all of them (six storage
// buffers; a shader declares the bindings it uses) and a 64-thread workgroup, a multiple of
// every subgroup size in use (8 on lavapipe's 256-bit lanes, 32 on NVIDIA, 64 on AMD).
#extension GL_EXT_control_flow_attributes : enable
#define WG 64
layout(local_size_x = WG, local_size_y = 1, local_size_z = 1) in;

// Flat invocation index for dispatches spread over x and y (x is capped at 65535 groups).
uint flat_id() { return gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * WG; }
