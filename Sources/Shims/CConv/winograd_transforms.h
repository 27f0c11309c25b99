// The 1-D Winograd transforms of F(2, 3) and F(4, 3), written once for CConv's vector kernels (winograd.c:
// AVX-512, winograd_avx2.c: AVX2). The including file defines the vector type V, the attribute macro KI and
// add, sub, mul (scalar times vector) and neg. Each is TensorCore's Swift transform (Conv2dWinograd.swift) with
// the same operations in the same order, so every vector width gives the Swift bits (with -ffp-contract=off).
#pragma once

// Bᵀ d, F(4, 3) (winogradBT6).
KI void bt6(const V d[6], V o[6]) {
    o[0] = add(sub(d[4], mul(5, d[2])), mul(4, d[0]));
    V p = sub(d[4], mul(4, d[2])), q = sub(d[3], mul(4, d[1]));
    o[1] = add(p, q);
    o[2] = sub(p, q);
    V u = sub(d[4], d[2]), v = mul(2, sub(d[3], d[1]));
    o[3] = add(u, v);
    o[4] = sub(u, v);
    o[5] = add(sub(d[5], mul(5, d[3])), mul(4, d[1]));
}

// Bᵀ d, F(2, 3) (winogradBT4).
KI void bt4(const V d[4], V o[4]) {
    o[0] = sub(d[0], d[2]); o[1] = add(d[1], d[2]); o[2] = sub(d[2], d[1]); o[3] = sub(d[1], d[3]);
}

// Aᵀ y, F(4, 3) (winogradAT6).
KI void at6(const V d[6], V o[4]) {
    V p = add(d[1], d[2]), q = sub(d[1], d[2]), r = add(d[3], d[4]), t = sub(d[3], d[4]);
    o[0] = add(add(d[0], p), r);
    o[1] = add(q, mul(2, t));
    o[2] = add(p, mul(4, r));
    o[3] = add(add(q, mul(8, t)), d[5]);
}

// Aᵀ y, F(2, 3) (winogradAT4).
KI void at4(const V d[4], V o[2]) {
    o[0] = add(add(d[0], d[1]), d[2]);
    o[1] = sub(sub(d[1], d[2]), d[3]);
}

// A y, F(4, 3) (winogradA6).
KI void a6(const V d[4], V o[6]) {
    V e = add(d[0], d[2]), f = add(d[1], d[3]), e4 = add(d[0], mul(4, d[2])), f8 = add(mul(2, d[1]), mul(8, d[3]));
    o[0] = d[0]; o[1] = add(e, f); o[2] = sub(e, f); o[3] = add(e4, f8); o[4] = sub(e4, f8); o[5] = d[3];
}

// A y, F(2, 3) (winogradA4).
KI void a4(const V d[2], V o[4]) {
    o[0] = d[0]; o[1] = add(d[0], d[1]); o[2] = sub(d[0], d[1]); o[3] = neg(d[1]);
}
