# A tiny "paravirtual kernel" for PV-GRUB tests: a 32-bit multiboot kernel
# that prints the command line PV-GRUB gave it and how many modules (the
# initrd) it got, then halts, or powers off when built with POWEROFF=1.
	.text
	.align 4
multiboot:
	.long 0x1BADB002
	.long 0x00000003
	.long -(0x1BADB002 + 0x00000003)
	.globl _start
_start:
	movl $stack_top, %esp
	movl %ebx, %esi
	movl $msg, %edi
	call puts
	testl $4, (%esi)
	jz 1f
	movl 16(%esi), %edi
	call puts
1:	movl $mods, %edi
	call puts
	movl $0, %eax
	testl $8, (%esi)
	jz 2f
	movl 20(%esi), %eax
2:	addb $'0', %al
	call putc
	movl $eol, %edi
	call puts
.ifdef POWEROFF
	movw $0x604, %dx
	movw $0x2000, %ax
	outw %ax, %dx
.endif
3:	hlt
	jmp 3b
puts:	movb (%edi), %al
	testb %al, %al
	jz 4f
	call putc
	incl %edi
	jmp puts
4:	ret
putc:	movb %al, %cl
	movw $0x3fd, %dx
5:	inb %dx, %al
	testb $0x20, %al
	jz 5b
	movw $0x3f8, %dx
	movb %cl, %al
	outb %al, %dx
	ret
	.data
msg:	.asciz "amibox pv guest: cmdline="
mods:	.asciz " modules="
eol:	.asciz "\r\n"
	.bss
	.align 16
	.space 4096
stack_top:
