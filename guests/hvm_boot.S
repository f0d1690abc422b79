# A tiny HVM guest: counts its boots in sector 2 of its disk (through the
# BIOS), prints the count on the serial port, then halts (or, if the byte
# at "mode" is 1, powers the machine off through ACPI).
	.code16
	.globl _start
_start:
	cli
	xorw %ax, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw $0x7c00, %sp
	movb %dl, drive
	# read sector 2 (CHS 0/0/2) to 0x7e00
	movw $0x0201, %ax
	movw $0x7e00, %bx
	movw $0x0002, %cx
	xorb %dh, %dh
	movb drive, %dl
	int $0x13
	incb 0x7e00
	movw $0x0301, %ax
	movw $0x7e00, %bx
	movw $0x0002, %cx
	xorb %dh, %dh
	movb drive, %dl
	int $0x13
	movw $msg, %si
	call puts
	movb 0x7e00, %al
	xorb %ah, %ah
	movb $100, %cl
	divb %cl
	addb $'0', %al
	movb %ah, %bh
	call putc
	movb %bh, %al
	xorb %ah, %ah
	movb $10, %cl
	divb %cl
	addb $'0', %al
	movb %ah, %bh
	call putc
	movb %bh, %al
	addb $'0', %al
	call putc
	movw $eol, %si
	call puts
	cmpb $1, mode
	jne 4f
	movw $0x604, %dx
	movw $0x2000, %ax
	outw %ax, %dx
4:	hlt
	jmp 4b
puts:	lodsb
	testb %al, %al
	jz 3f
	call putc
	jmp puts
3:	ret
putc:	movb %al, %bl
	movw $0x3fd, %dx
2:	inb %dx, %al
	testb $0x20, %al
	jz 2b
	movw $0x3f8, %dx
	movb %bl, %al
	outb %al, %dx
	ret
drive:	.byte 0
msg:	.asciz "amibox hvm guest: boot "
eol:	.asciz "\r\n"
	.org 509
mode:	.byte 0
	.byte 0x55, 0xaa
