/*
 * compute/screenshot.c: GetConsoleScreenshot's picture of a machine's
 * screen.  QEMU writes its display (the instance's VGA) as a PPM file on
 * QMP's screendump; it is read back, bounded, and encoded as the JPEG that
 * EC2 answers with (libjpeg).
 */
#include "compute/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jpeglib.h>

#define SCREENSHOT_MAX_SIDE 4096

/* Reads a binary PPM (P6, maxval 255) into *rgb; -1 when it is not one. */
static int screenshot_read_ppm(const char *path, unsigned char **rgb, unsigned *width,
			       unsigned *height)
{
	FILE *f = fopen(path, "rb");
	unsigned w = 0, h = 0, maxval = 0;
	int ret = -1;
	*rgb = NULL;
	if (!f)
		return -1;
	if (fscanf(f, "P6 %u %u %u", &w, &h, &maxval) != 3 || fgetc(f) == EOF || maxval != 255 ||
	    !w || !h || w > SCREENSHOT_MAX_SIDE || h > SCREENSHOT_MAX_SIDE)
		goto out;
	size_t len = (size_t)w * h * 3;
	*rgb = xmalloc(len);
	if (fread(*rgb, 1, len, f) != len) {
		free(*rgb);
		*rgb = NULL;
		goto out;
	}
	*width = w;
	*height = h;
	ret = 0;
out:
	fclose(f);
	return ret;
}

static int screenshot_jpeg(const unsigned char *rgb, unsigned width, unsigned height,
			   struct buf *out)
{
	struct jpeg_compress_struct cinfo;
	struct jpeg_error_mgr jerr;
	unsigned char *mem = NULL;
	unsigned long size = 0;
	cinfo.err = jpeg_std_error(&jerr);
	jpeg_create_compress(&cinfo);
	jpeg_mem_dest(&cinfo, &mem, &size);
	cinfo.image_width = width;
	cinfo.image_height = height;
	cinfo.input_components = 3;
	cinfo.in_color_space = JCS_RGB;
	jpeg_set_defaults(&cinfo);
	jpeg_set_quality(&cinfo, 85, TRUE);
	jpeg_start_compress(&cinfo, TRUE);
	while (cinfo.next_scanline < cinfo.image_height) {
		JSAMPROW row = (JSAMPROW)(rgb + (size_t)cinfo.next_scanline * width * 3);
		jpeg_write_scanlines(&cinfo, &row, 1);
	}
	jpeg_finish_compress(&cinfo);
	jpeg_destroy_compress(&cinfo);
	buf_append(out, mem, size);
	free(mem);
	return 0;
}

int compute_screenshot(struct compute *c, const char *instance_id, struct buf *jpeg,
		       struct err *e)
{
	struct buf path = BUF_INIT, cmd = BUF_INIT;
	unsigned char *rgb = NULL;
	unsigned width = 0, height = 0;
	int ret = -1;
	compute_instance_dir(c, instance_id, &path);
	buf_append_str(&path, "/screen.ppm");
	unlink(path.data);
	buf_printf(&cmd, "{\"execute\":\"screendump\",\"arguments\":{\"filename\":\"%s\"}}",
		   path.data);
	if (qemu_qmp(c, instance_id, cmd.data) < 0) {
		err_set(e, 400, "IncorrectInstanceState",
			"The instance '%s' has no screen to take a picture of now.", instance_id);
		goto out;
	}
	if (screenshot_read_ppm(path.data, &rgb, &width, &height) < 0) {
		err_internal(e, "the screen of %s could not be read", instance_id);
		goto out;
	}
	ret = screenshot_jpeg(rgb, width, height, jpeg);
out:
	unlink(path.data);
	free(rgb);
	buf_release(&path);
	buf_release(&cmd);
	return ret;
}
