//go:build amd64 && !goexperiment.simd && !purego

#include "textflag.h"

// func dwTapsAVX2(out *float32, ldo, owp, ohp int, q *float32, rowStep int, offs *int, ntaps int, k *float32, bias float32)
//
// For each block of 4 rows by 8 columns of out: four accumulators start at
// bias; each tap broadcasts its weight and adds it times the four rows of q
// at the tap's offset.
TEXT ·dwTapsAVX2(SB), NOSPLIT, $0-76
	MOVQ out+0(FP), DI
	MOVQ q+32(FP), SI
	MOVQ rowStep+40(FP), R10
	SHLQ $2, R10
	MOVQ offs+48(FP), R11
	MOVQ ntaps+56(FP), R12
	MOVQ k+64(FP), R13
	VBROADCASTSS bias+72(FP), Y15
	XORQ BX, BX

rows:
	CMPQ BX, ohp+24(FP)
	JGE done
	XORQ CX, CX

cols:
	CMPQ CX, owp+16(FP)
	JGE nextrow
	MOVQ BX, AX
	IMULQ R10, AX
	LEAQ (AX)(CX*4), AX
	ADDQ SI, AX
	VMOVAPS Y15, Y0
	VMOVAPS Y15, Y1
	VMOVAPS Y15, Y2
	VMOVAPS Y15, Y3
	XORQ DX, DX

taps:
	MOVQ (R11)(DX*8), R8
	LEAQ (AX)(R8*4), R8
	VBROADCASTSS (R13)(DX*4), Y4
	VFMADD231PS (R8), Y4, Y0
	ADDQ R10, R8
	VFMADD231PS (R8), Y4, Y1
	ADDQ R10, R8
	VFMADD231PS (R8), Y4, Y2
	ADDQ R10, R8
	VFMADD231PS (R8), Y4, Y3
	INCQ DX
	CMPQ DX, R12
	JLT taps

	MOVQ BX, R9
	IMULQ ldo+8(FP), R9
	ADDQ CX, R9
	LEAQ (DI)(R9*4), R9
	MOVQ ldo+8(FP), DX
	SHLQ $2, DX
	VMOVUPS Y0, (R9)
	ADDQ DX, R9
	VMOVUPS Y1, (R9)
	ADDQ DX, R9
	VMOVUPS Y2, (R9)
	ADDQ DX, R9
	VMOVUPS Y3, (R9)
	ADDQ $8, CX
	JMP cols

nextrow:
	ADDQ $4, BX
	JMP rows

done:
	VZEROUPPER
	RET
