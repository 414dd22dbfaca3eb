/*
 * xdnd-source: a GTK 3 window that is an XDND drag source offering the files
 * named on its command line as text/uri-list, for the real-window drop test
 * (main_drop_test.go). Built by that test with
 *   gcc source.c $(pkg-config --cflags --libs gtk+-3.0)
 *
 * Usage: xdnd-source X Y FILE...
 * The window ("xdnd source", 160x80) is placed at X,Y. Press button 1 in it
 * and move: GTK starts the drag and speaks XDND to the window under the
 * pointer. What happens is printed on stdout, one line each, for the test's
 * log: "drag-begin", "data-get N" (the target asked for the data),
 * "drag-end", "drag-failed RESULT".
 */
#include <gtk/gtk.h>
#include <stdio.h>

static char **uris;

static void begin(GtkWidget *w, GdkDragContext *ctx, gpointer data) {
	printf("drag-begin\n");
	fflush(stdout);
}

static void data_get(GtkWidget *w, GdkDragContext *ctx, GtkSelectionData *sel,
                     guint info, guint time, gpointer data) {
	gtk_selection_data_set_uris(sel, uris);
	printf("data-get %u\n", g_strv_length(uris));
	fflush(stdout);
}

static void end(GtkWidget *w, GdkDragContext *ctx, gpointer data) {
	printf("drag-end\n");
	fflush(stdout);
}

static gboolean failed(GtkWidget *w, GdkDragContext *ctx, GtkDragResult result, gpointer data) {
	printf("drag-failed %d\n", (int)result);
	fflush(stdout);
	return TRUE; /* no "snap back" animation */
}

int main(int argc, char **argv) {
	gtk_init(&argc, &argv);
	if (argc < 4) {
		fprintf(stderr, "usage: %s X Y FILE...\n", argv[0]);
		return 2;
	}
	int n = argc - 3;
	uris = g_new0(char *, n + 1);
	for (int i = 0; i < n; i++) {
		GError *err = NULL;
		char *abs = g_canonicalize_filename(argv[3 + i], NULL);
		uris[i] = g_filename_to_uri(abs, NULL, &err);
		g_free(abs);
		if (uris[i] == NULL) {
			fprintf(stderr, "%s: %s\n", argv[3 + i], err->message);
			return 2;
		}
	}

	GtkWidget *win = gtk_window_new(GTK_WINDOW_TOPLEVEL);
	gtk_window_set_title(GTK_WINDOW(win), "xdnd source");
	gtk_window_set_default_size(GTK_WINDOW(win), 160, 80);
	gtk_window_move(GTK_WINDOW(win), atoi(argv[1]), atoi(argv[2]));
	g_signal_connect(win, "destroy", G_CALLBACK(gtk_main_quit), NULL);

	/* An event box takes the button press that starts the drag. */
	GtkWidget *box = gtk_event_box_new();
	gtk_container_add(GTK_CONTAINER(box), gtk_label_new("drag me"));
	gtk_container_add(GTK_CONTAINER(win), box);
	GtkTargetEntry target = {"text/uri-list", 0, 0};
	gtk_drag_source_set(box, GDK_BUTTON1_MASK, &target, 1, GDK_ACTION_COPY);
	g_signal_connect(box, "drag-begin", G_CALLBACK(begin), NULL);
	g_signal_connect(box, "drag-data-get", G_CALLBACK(data_get), NULL);
	g_signal_connect(box, "drag-end", G_CALLBACK(end), NULL);
	g_signal_connect(box, "drag-failed", G_CALLBACK(failed), NULL);

	gtk_widget_show_all(win);
	printf("ready\n");
	fflush(stdout);
	gtk_main();
	return 0;
}
